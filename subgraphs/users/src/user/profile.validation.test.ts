import { validateLocale, validateName, validatePhone } from './profile.validation';

const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { extensions: { code: string; field: string } }).extensions;
  }
  return null;
};

describe('profile validation', () => {
  it('accepts and tidies names', () => {
    expect(validateName('  Nguyễn   Văn  An ')).toBe('Nguyễn Văn An');
    // Scripts written right to left, and emoji joined into one, are names too.
    expect(validateName('محمد علي')).toBe('محمد علي');
    expect(validateName('An 👨\u200d👩\u200d👧')).toBe('An 👨\u200d👩\u200d👧');
  });

  it.each([
    [''],
    ['   '],
    ['x'.repeat(101)],
    ['bad\u0007name'],
    // Nothing visible, or text that hides or reverses what follows it.
    ['\u200b'],
    ['\u202e\u200b'],
    ['\u{e0001}'],
    ['An\u202egnp.exe'],
    ['An \u2066x\u2069'],
  ])('refuses name %j', (name) => {
    expect(fieldOf(() => validateName(name))).toEqual({ code: 'BAD_USER_INPUT', field: 'name' });
  });

  it.each([
    ['0912345678', '+84912345678'],
    ['091 234 5678', '+84912345678'],
    ['+84 912 345 678', '+84912345678'],
    ['+14155552671', '+14155552671'],
    ['', null],
  ])('accepts phone %j as %j', (input, stored) => {
    expect(validatePhone(input)).toBe(stored);
  });

  it.each([['12345'], ['0112345678'], ['+84112345678'], ['phone'], ['+0123456789']])(
    'refuses phone %j',
    (phone) => {
      expect(fieldOf(() => validatePhone(phone))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'phone',
      });
    },
  );

  it.each([['vi'], ['en']])('accepts locale %j', (locale) => {
    expect(validateLocale(locale)).toBe(locale);
  });

  it.each([[''], ['EN'], ['fr'], ['en-US'], [' vi'], ['x'.repeat(1000)]])(
    'refuses locale %j',
    (locale) => {
      expect(fieldOf(() => validateLocale(locale))).toEqual({
        code: 'BAD_USER_INPUT',
        field: 'locale',
      });
    },
  );
});
