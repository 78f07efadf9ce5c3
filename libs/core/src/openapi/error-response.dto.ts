/** One problem with the request; `field` is the dotted path of the input it concerns. */
export class ErrorDetailResponse {
  field?: string;
  message: string;
}

/** The one error shape of the API (AllExceptionsFilter writes it for every error). */
export class ErrorResponse {
  /** The HTTP status, repeated. */
  statusCode: number;
  /** The status's reason phrase ("Bad Request"). */
  error: string;
  /** Stable, for programs: each operation lists the codes it answers per status. */
  code: string;
  /** For people. */
  message: string;
  details: ErrorDetailResponse[];
  /** Also in the x-request-id header; quote it when reporting a problem. */
  request_id: string;
}
