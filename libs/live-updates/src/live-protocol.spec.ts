import { INVALID_MESSAGE, offeredToken, parseLiveMessage } from './live-protocol';

describe('parseLiveMessage', () => {
  it('maps a known type to its handler with the whole object as body', () => {
    expect(parseLiveMessage(Buffer.from('{"type":"resume","cursor":"1-2"}'))).toEqual({ event: 'resume', data: { type: 'resume', cursor: '1-2' } });
    expect(parseLiveMessage('{"type":"auth","access_token":"t"}').event).toBe('auth');
  });

  it('maps anything else to the invalid-message handler', () => {
    for (const raw of ['not json', '[]', '"auth"', 'null', '{"type":"subscribe"}', '{"event":"auth"}', '{"type":1}']) {
      expect(parseLiveMessage(raw)).toEqual({ event: INVALID_MESSAGE, data: {} });
    }
  });
});

describe('offeredToken', () => {
  it('takes the token offered beside "bearer", or alone', () => {
    expect(offeredToken('bearer, eyJ.a.b')).toBe('eyJ.a.b');
    expect(offeredToken('tgv_pat_abc')).toBe('tgv_pat_abc');
    expect(offeredToken(['bearer', 'tok'])).toBe('tok');
    expect(offeredToken('bearer')).toBeNull();
    expect(offeredToken(undefined)).toBeNull();
  });
});
