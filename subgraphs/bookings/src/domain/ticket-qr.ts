import { toDataURL } from 'qrcode';

/**
 * A PNG data URL (`data:image/png;base64,...`) of the QR code of a signed ticket payload, for
 * the `qrCode` field and the confirmation email's inline image.
 *
 * Error correction M (15% of the code may be damaged: a cracked phone screen, a crease in a
 * printout) suits a payload this short; a 2-module quiet zone and 8 px per module give a code
 * door scanners read from a phone at arm's length.
 */
export function qrDataUrl(payload: string): Promise<string> {
  return toDataURL(payload, { errorCorrectionLevel: 'M', margin: 2, scale: 8, type: 'image/png' });
}
