/**
 * Folds case and Vietnamese diacritics: "Lật Mặt" → "lat mat", "Đà Nẵng" → "da nang".
 * `đ` has no decomposition in Unicode, so it is mapped by hand.
 */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}
