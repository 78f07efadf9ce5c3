export * from './live-updates.module';
export * from './live-updates.gateway';
export * from './live-protocol';
export * from './live-snapshots';
