// Without side effects (serve-okx.ts starts a server when loaded): the benches import the keys from here.

/** The keys of bench account `i` on the fake OKX of serve-okx.ts (the fake checks signatures with them). */
export function benchOkxKeys(i: number): { apiKey: string; secret: string; passphrase: string } {
  return { apiKey: `bench-okx-key-${i}`, secret: `BENCHOKXSECRET${i}`, passphrase: `Bench-pass-${i}` };
}
