export * from './admin.module';
export * from './admin-users.service';
export * from './dto/admin-user.dto';
