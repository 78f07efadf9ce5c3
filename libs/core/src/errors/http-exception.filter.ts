import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from './database-unavailable';
import { DomainError, ErrorDetail } from './domain-error';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: string;
  message: string;
  details: ErrorDetail[];
  request_id: string;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/** Errors raised by Fastify itself (bad JSON, body too large) carry a statusCode and an FST_ code. */
interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    this.respond(exception, ctx.getRequest<FastifyRequest>(), ctx.getResponse<FastifyReply>());
  }

  /** Logs and answers one error; also used by routes Fastify runs without Nest (the webhook receive route). */
  respond(exception: unknown, request: FastifyRequest | undefined, reply: FastifyReply): void {
    const body = this.toBody(exception, String(request?.id ?? ''));
    if (body.code === 'database_unavailable') {
      this.logger.warn({ err: exception, request_id: body.request_id }, 'Database connection lost under a request');
      void reply.header('retry-after', '1');
    } else if (body.statusCode >= 500) {
      this.logger.error({ err: exception, request_id: body.request_id }, 'Unhandled error');
    } else {
      this.logger.log({ status: body.statusCode, code: body.code, request_id: body.request_id }, body.message);
    }
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }

  toBody(exception: unknown, requestId: string): ErrorBody {
    if (exception instanceof DomainError) {
      return this.shape(exception.status, exception.code, exception.message, exception.details, requestId);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const res = exception.getResponse();
      let message = exception.message;
      let details: ErrorDetail[] = [];
      let code = CODE_BY_STATUS[status] ?? 'error';
      if (typeof res === 'object' && res !== null) {
        const r = res as { message?: unknown; details?: ErrorDetail[]; code?: string };
        if (typeof r.message === 'string') message = r.message;
        if (Array.isArray(r.message)) {
          details = r.message.map((m) => ({ message: String(m) }));
          message = 'Validation failed';
        }
        if (Array.isArray(r.details)) details = r.details;
        if (typeof r.code === 'string') code = r.code;
      }
      if (status === HttpStatus.TOO_MANY_REQUESTS) message = 'Too many requests, slow down';
      return this.shape(status, code, message, details, requestId);
    }
    const fe = exception as FastifyLikeError;
    if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      const code = fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'malformed_json' : CODE_BY_STATUS[fe.statusCode] ?? 'bad_request';
      const message = code === 'malformed_json' ? 'Request body is not valid JSON' : fe.message ?? 'Bad request';
      return this.shape(fe.statusCode, code, message, [], requestId);
    }
    if (isDatabaseUnavailable(exception)) return this.shape(503, 'database_unavailable', 'The database is briefly unavailable, retry', [], requestId);
    return this.shape(500, 'internal_error', 'Internal server error', [], requestId);
  }

  private shape(status: number, code: string, message: string, details: ErrorDetail[], requestId: string): ErrorBody {
    return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', code, message, details, request_id: requestId };
  }
}
