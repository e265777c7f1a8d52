/** What a page address renders: its element, and what to stop when the visitor leaves. */
export interface View {
  readonly element: HTMLElement;
  dispose?(): void;
}

/** A key no other request shares (Idempotency-Key), also where crypto.randomUUID is missing (plain http on a LAN address). */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
