import { ExchangeError, ExchangeErrorCodes as C } from '../errors';

/**
 * Why connecting a key failed, in a trader's words. Built only from the exchange's error code and
 * our own error class, never from the error's text, which for a failure below HTTP carries our
 * outgoing URL, the host name and the resolver's error ("okx GET https://www.okx.com/… fetch failed:
 * getaddrinfo ENOTFOUND www.okx.com"). An exchange message is quoted only when the exchange sent
 * one (a JSON answer with its own code).
 */
const OKX_CODES: Readonly<Record<string, string>> = {
  // Unknown or deleted key (50111 Invalid OK-ACCESS-KEY; 50103 no key sent; 50119 key does not exist).
  '50103': 'OKX does not recognise this API key. Check that you copied the whole key and that it was not deleted on OKX.',
  '50111': 'OKX does not recognise this API key. Check that you copied the whole key and that it was not deleted on OKX.',
  '50119': 'OKX does not recognise this API key. Check that you copied the whole key and that it was not deleted on OKX.',
  // Passphrase (50104 none sent, 50105 wrong).
  '50104': 'The passphrase is wrong for this API key. Use the passphrase you chose when you created the key (not your OKX login password).',
  '50105': 'The passphrase is wrong for this API key. Use the passphrase you chose when you created the key (not your OKX login password).',
  // Secret (the signature made with it does not match).
  '50113': 'The secret key does not match this API key. Copy the secret OKX showed when the key was created (create a new key if you no longer have it).',
  '50114': 'The secret key does not match this API key. Copy the secret OKX showed when the key was created (create a new key if you no longer have it).',
  '50106': 'The secret key does not match this API key. Copy the secret OKX showed when the key was created (create a new key if you no longer have it).',
  // Demo key on live trading, or the reverse.
  '50101':
    'This key belongs to the other OKX environment: a key created under Demo Trading needs "sandbox": true, a live key "sandbox": false.',
  // Bound to IP addresses that do not include ours.
  '50110':
    "This API key is bound to IP addresses that do not include Torgovo's servers. On OKX, edit the key and add our server addresses to its IP whitelist, or create a key with our addresses bound.",
  '50121':
    "This API key is bound to IP addresses that do not include Torgovo's servers. On OKX, edit the key and add our server addresses to its IP whitelist, or create a key with our addresses bound.",
  // Clocks out of step (50102 expired, 50112 invalid timestamp).
  '50102': 'OKX refused the request time (the clocks are out of step). Nothing was saved: try again in a minute.',
  '50112': 'OKX refused the request time (the clocks are out of step). Nothing was saved: try again in a minute.',
  '50100': 'OKX has frozen this API key. Contact OKX support or create a new key.',
  '50027': 'OKX restricts this account from trading. Check the account status on OKX.',
};

const UNREACHABLE = 'OKX could not be reached to check these keys. Nothing was saved: try again in a few minutes.';

export function credentialFailureReason(e: ExchangeError): string {
  if (e.exchangeCode !== null && OKX_CODES[e.exchangeCode]) return OKX_CODES[e.exchangeCode];
  switch (e.code) {
    case C.network:
    case C.timeout:
    case C.unavailable:
      return UNREACHABLE;
    case C.rateLimited:
      return 'OKX is limiting requests from this key right now. Nothing was saved: try again in a minute.';
    default:
      break;
  }
  // The exchange answered with its own code and message: quote it (secrets are already scrubbed).
  if (e.exchangeCode !== null) return `OKX refused these keys: ${e.reason} (OKX code ${e.exchangeCode}).`;
  if (e.code === C.authentication) return 'OKX refused these keys. Check the API key, secret and passphrase.';
  if (e.code === C.permissionDenied) return 'OKX does not allow this key to read the account. Give the key the Read permission (and Trade for live bots).';
  return 'OKX did not accept these keys. Nothing was saved: check them and try again.';
}
