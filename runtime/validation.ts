import { badUserInput } from './errors';

/**
 * Field-level input checks shared by the subgraphs. Each throws BAD_USER_INPUT naming the
 * field, so a client can put the message next to the right input.
 */

export function text(field: string, value: string, { min = 1, max = 300 } = {}): string {
  const clean = value.normalize('NFC').trim();
  if ([...clean].length < min) throw badUserInput(field, `${field} must not be empty`);
  if ([...clean].length > max)
    throw badUserInput(field, `${field} must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(clean)) {
    throw badUserInput(field, `${field} must not contain control characters`);
  }
  return clean;
}

export function intInRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badUserInput(field, `${field} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function textList(field: string, values: string[], { maxItems = 20, maxLength = 100 } = {}) {
  if (values.length > maxItems)
    throw badUserInput(field, `${field} takes at most ${maxItems} items`);
  const clean = values.map((v) => text(field, v, { max: maxLength }));
  return [...new Set(clean)];
}

/** A calendar date, YYYY-MM-DD, that exists. */
export function calendarDate(field: string, value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const date = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : null;
  if (!date || date.toISOString().slice(0, 10) !== value) {
    throw badUserInput(field, `${field} must be a date YYYY-MM-DD`);
  }
  return value;
}

export function httpUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw badUserInput(field, `${field} must be a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw badUserInput(field, `${field} must be an http(s) URL`);
  }
  return url.toString();
}

/** Money is integer VND: whole, positive, and under a sane ceiling. */
export function vnd(field: string, value: number, max = 100_000_000): number {
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw badUserInput(field, `${field} must be a whole amount of VND from 1 to ${max}`);
  }
  return value;
}

export function latitude(field: string, value: number): number {
  if (!Number.isFinite(value) || value < -90 || value > 90) {
    throw badUserInput(field, `${field} must be between -90 and 90`);
  }
  return value;
}

export function longitude(field: string, value: number): number {
  if (!Number.isFinite(value) || value < -180 || value > 180) {
    throw badUserInput(field, `${field} must be between -180 and 180`);
  }
  return value;
}
