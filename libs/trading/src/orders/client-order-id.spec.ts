import { clientOrderIdFor } from './client-order-id';

describe('clientOrderIdFor', () => {
  it('never changes for the same order: orders already on the exchange are found again by it', () => {
    // Computed with the first implementation (createHash('sha256').update('webhook:<ref>').digest('hex')).
    expect(clientOrderIdFor('webhook', '6f1c2e4a-1b2c-4d5e-8f90-123456789abc')).toBe('t314cf56ccb77b7ea34c9a1be0c5fc71');
  });

  it('is 32 alphanumerics (OKX clOrdId) and differs with the source', () => {
    const id = clientOrderIdFor('manual', 'close:abc');
    expect(id).toMatch(/^t[0-9a-f]{31}$/);
    expect(clientOrderIdFor('managed', 'close:abc')).not.toBe(id);
  });
});
