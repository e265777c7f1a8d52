import { USER_LOCALES, type UserLocale } from '../../../../runtime/contracts/user-contacts';
import { badUserInput } from '../../../../runtime/errors';

export const NAME_MAX_LENGTH = 100;

/**
 * Characters that reorder or hide the text around them (bidirectional overrides and
 * isolates, Unicode tags): in a name they would disguise what emails and the admin console
 * show next to it.
 */
const DISGUISING = /[\u202a-\u202e\u2066-\u2069\u{e0000}-\u{e007f}]/u;
/** Something a reader can see: a letter, digit, symbol or punctuation mark. */
const VISIBLE = /[\p{L}\p{N}\p{S}\p{P}]/u;

/**
 * A display name: trimmed, 1..100 characters, something visible in it, no control
 * characters and none that reorder or hide text.
 */
export function validateName(name: string): string {
  const trimmed = name.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (trimmed.length === 0) throw badUserInput('name', 'name must not be empty');
  if ([...trimmed].length > NAME_MAX_LENGTH) {
    throw badUserInput('name', `name must be at most ${NAME_MAX_LENGTH} characters`);
  }
  if (/\p{Cc}/u.test(trimmed))
    throw badUserInput('name', 'name must not contain control characters');
  if (DISGUISING.test(trimmed)) {
    throw badUserInput('name', 'name must not contain characters that reorder or hide text');
  }
  if (!VISIBLE.test(trimmed)) throw badUserInput('name', 'name must contain a visible character');
  return trimmed;
}

/**
 * A phone number in E.164 (`+84912345678`) or a Vietnamese national number (`0912345678`,
 * mobile prefixes 03/05/07/08/09), stored as E.164. Spaces, dots and dashes are ignored.
 * An empty string clears the phone.
 */
export function validatePhone(phone: string): string | null {
  const compact = phone.replace(/[\s.\-()]/g, '');
  if (compact === '') return null;
  if (/^0[35789]\d{8}$/.test(compact)) return `+84${compact.slice(1)}`;
  if (/^\+[1-9]\d{7,14}$/.test(compact)) {
    if (compact.startsWith('+84') && !/^\+84[235789]\d{8}$/.test(compact)) {
      throw badUserInput('phone', 'not a valid Vietnamese phone number');
    }
    return compact;
  }
  throw badUserInput('phone', 'phone must be in E.164 form (+84912345678) or a Vietnamese number');
}

/** Whether a value is one of the languages mail is written in (`USER_LOCALES`). */
export const isUserLocale = (value: unknown): value is UserLocale =>
  typeof value === 'string' && (USER_LOCALES as readonly string[]).includes(value);

/** A locale exactly as listed in `USER_LOCALES` (`vi`, `en`); anything else is refused. */
export function validateLocale(locale: string): UserLocale {
  if (!isUserLocale(locale)) {
    throw badUserInput('locale', `locale must be one of: ${USER_LOCALES.join(', ')}`);
  }
  return locale;
}
