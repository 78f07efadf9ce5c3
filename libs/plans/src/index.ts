export * from './plans.module';
export * from './plans.service';
export * from './plan-types';
export * from './errors';
export * from './entities/subscription-plan.entity';
export * from './dto/plan.dto';
export * from './dto/plan-response';
