import { repeatKey } from './webhook-repeat';

describe('repeatKey', () => {
  const now = new Date('2026-11-25T12:00:00Z');

  it('with an alert_id: the body (which carries the id) decides, kept with its event', () => {
    const buy = '{"action":"buy","alert_id":"2026-11-25T12:00:00Z"}';
    const sell = '{"action":"sell","alert_id":"2026-11-25T12:00:00Z"}';
    expect(repeatKey('2026-11-25T12:00:00Z', buy, now, 30)).toEqual(repeatKey('2026-11-25T12:00:00Z', buy, new Date(0), 30));
    expect(repeatKey('2026-11-25T12:00:00Z', buy, now, 30).key).not.toBe(repeatKey('2026-11-25T12:00:00Z', sell, now, 30).key);
    expect(repeatKey('x', buy, now, 30).expiresAt).toBeNull();
  });

  it('without one: the same body within the window', () => {
    const body = '{"action":"buy"}';
    const k = repeatKey(null, body, now, 30);
    expect(k.expiresAt).toEqual(new Date('2026-11-25T12:00:30Z'));
    // A body key and an id key never collide, even for the same bytes.
    expect(k.key).not.toBe(repeatKey('id', body, now, 30).key);
  });
});
