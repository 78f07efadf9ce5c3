/** The one shape the receive route answers: POST to this path, exactly as generate gave it. */
export const RECEIVE_PATH = /^\/api\/custom-bot\/webhook\/receive\/([^/?#]+)(?:[?#].*)?$/;
/** Any request a client meant for a receive URL: decoded, any case, any number of slashes or segments. */
const RECEIVE_PREFIX = /^\/+api\/+custom-bot\/+webhook\/+receive(?:\/+([^/]*))?(?:\/.*)?$/i;

function decodedOrRaw(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface ReceiveUrl {
  /** True only for the route's own shape (see RECEIVE_PATH). */
  canonical: boolean;
  /** The segment where the secret goes, decoded; null when there is none. */
  secret: string | null;
}

/** Null when the URL is not a receive URL in any shape. */
export function parseReceiveUrl(url: string): ReceiveUrl | null {
  const exact = RECEIVE_PATH.exec(url);
  if (exact) return { canonical: true, secret: decodedOrRaw(exact[1]) };
  const path = decodedOrRaw(url.split(/[?#]/, 1)[0]);
  const loose = RECEIVE_PREFIX.exec(path);
  if (!loose) return null;
  return { canonical: false, secret: loose[1] ? loose[1] : null };
}

export function receiveSecretOf(url: string): string | null {
  const exact = RECEIVE_PATH.exec(url);
  return exact ? decodedOrRaw(exact[1]) : null;
}
