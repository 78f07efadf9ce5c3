export * from './admin.module';
export * from './admin-users.service';
export * from './dto/admin-user.dto';
export * from './admin-stats.service';
export * from './admin-records.service';
export * from './dto/admin-stats.dto';
export * from './dto/admin-records.dto';
export * from './dto/admin-pnl.dto';
