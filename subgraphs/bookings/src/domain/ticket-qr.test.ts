import { qrDataUrl } from './ticket-qr';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('ticket QR codes', () => {
  it('is a PNG data URL', async () => {
    const url = await qrDataUrl('MH1.MH7K3Q9XJD-001.AAAAAAAAAAAAAAAAAAAAAA');
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const png = Buffer.from(url.slice('data:image/png;base64,'.length), 'base64');
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
  });

  it('differs for different payloads', async () => {
    const a = await qrDataUrl('MH1.MH7K3Q9XJD-001.AAAAAAAAAAAAAAAAAAAAAA');
    const b = await qrDataUrl('MH1.MH7K3Q9XJD-002.AAAAAAAAAAAAAAAAAAAAAA');
    expect(a).not.toBe(b);
  });
});
