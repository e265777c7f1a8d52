# syntax=docker/dockerfile:1
# One image for every MovieHub service. The default command runs the gateway;
# override it to run a subgraph, e.g. `node dist/subgraphs/users/src/main.js`.

# ---- build: install everything, compile TypeScript, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci

COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: compiled output, production dependencies, composed schema ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
# Node's options for every service (runtime/node-options.ts says why).
ENV NODE_OPTIONS=--max-semi-space-size=32
WORKDIR /app

# package.json marks the project root; the gateway reads schema/supergraph.graphql from it.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema

USER node
EXPOSE 4000
CMD ["node", "dist/gateway/src/main.js"]
