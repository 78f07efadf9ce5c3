/**
 * How many of the receive route's requests this api process has begun and not answered yet
 * (WebhookBusySignal reads it).
 */
export class WebhookBacklog {
  private inFlight = 0;

  begin(): void {
    this.inFlight += 1;
  }

  end(): void {
    this.inFlight -= 1;
  }

  get size(): number {
    return this.inFlight;
  }
}
