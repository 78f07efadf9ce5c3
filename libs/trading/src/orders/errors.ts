import { DomainError } from '@torgovo/core';

export const OrderErrors = {
  notFound: () => new DomainError('not_found', 404, 'Order not found'),
} as const;
