import { foldText } from './text';

it('folds case and Vietnamese diacritics, đ included', () => {
  expect(foldText('Lật Mặt 7: Một Điều Ước')).toBe('lat mat 7: mot dieu uoc');
  expect(foldText('  Đà   Nẵng ')).toBe('da nang');
  expect(foldText('Hồ Chí Minh')).toBe(foldText('ho chi minh'));
});
