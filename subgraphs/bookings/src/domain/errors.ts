import { AppError, type ErrorCode } from '../../../../runtime/errors';

/**
 * An error of the booking engine's rules. It is an {@link AppError} (a GraphQLError whose
 * `extensions.code` is a registered code), so a resolver can let it through unchanged; the
 * domain modules never build GraphQL answers themselves.
 *
 * Only the extensions `runtime/errors.ts` lists as public (`field`, `reason`, `seatIds`, ...)
 * survive production masking; the others (`from`, `to`, `usedAt` ...) help in development and
 * in logs.
 */
export class DomainError extends AppError {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, message, extensions);
    this.name = 'DomainError';
    this.code = code;
  }
}

/** BAD_USER_INPUT naming the one input field at fault (`extensions.field`). */
export const invalidInput = (field: string, message: string): DomainError =>
  new DomainError('BAD_USER_INPUT', message, { field });

/** One problem with one field of an input, as the validators collect them. */
export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * One BAD_USER_INPUT for every issue at once, so an admin form learns all of its mistakes in
 * one round trip. The message lists them all; `extensions.field` is set only when a single
 * field is at fault, as the contract promises ("when one field is at fault").
 */
export function issuesError(issues: readonly FieldIssue[]): DomainError {
  const fields = [...new Set(issues.map((i) => i.field))];
  const message = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new DomainError(
    'BAD_USER_INPUT',
    message,
    fields.length === 1 ? { field: fields[0] } : {},
  );
}
