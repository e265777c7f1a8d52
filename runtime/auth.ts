import type { AuthChecker } from 'type-graphql';
import { AppError } from './errors';
import type { Role } from './identity';
import type { RequestContext } from './request-context';

/**
 * The one authorization rule every subgraph uses with `@Authorized(...roles)`: anonymous
 * callers get UNAUTHENTICATED, signed-in callers without one of the roles get FORBIDDEN.
 * `@Authorized()` with no roles only requires a signed-in caller.
 */
export const authChecker: AuthChecker<RequestContext, Role> = ({ context }, roles) => {
  requireUser(context);
  if (roles.length > 0 && !roles.includes(context.identity.role as Role)) {
    throw new AppError('FORBIDDEN', `Requires role ${roles.join(' or ')}`);
  }
  return true;
};

/** The caller's user id, or UNAUTHENTICATED. */
export function requireUser(context: RequestContext): string {
  const userId = context.identity.userId;
  if (!userId) throw new AppError('UNAUTHENTICATED', 'Sign in to do this');
  return userId;
}

export const hasRole = (context: RequestContext, ...roles: Role[]): boolean =>
  context.identity.role !== null && roles.includes(context.identity.role);
