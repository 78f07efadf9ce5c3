import { DomainError } from '@torgovo/core';

export const OrderErrors = {
  notFound: () => new DomainError('not_found', 404, 'Order not found'),
  final: (status: string) => new DomainError('order_final', 409, `The order is already ${status}; only an unfinished order can be canceled`),
} as const;
