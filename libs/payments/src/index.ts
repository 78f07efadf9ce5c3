export * from './payments.module';
export * from './renewal-request.service';
export * from './entities/payment.entity';
