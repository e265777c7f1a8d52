import { defineConfig } from 'vite';

/**
 * The seat map page. `npm run build` bundles it into dist/web, which the gateway serves at
 * /app (the Docker image copies dist/ as it is). `npm run dev:web` serves it with hot reload
 * at http://localhost:5173/app/, talking to a gateway on :4000 (`npm start`) through the proxy.
 */
const gateway = 'http://localhost:4000';

export default defineConfig({
  base: '/app/',
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/graphql': { target: gateway, ws: true },
      '/app/config.json': gateway,
      '/app/demo-session': gateway,
    },
  },
});
