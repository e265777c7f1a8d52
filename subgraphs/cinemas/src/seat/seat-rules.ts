/** DESIGN.md invariant 3: at most 8 seats per user per showtime. */
export const MAX_SEATS_PER_HOLDER = 8;
