// The data source the TypeORM CLI uses (npm run migration:*). Needs DATABASE_URL.
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

const url = process.env.DATABASE_URL;
if (!url) {
  throw new Error('DATABASE_URL is required for the migration CLI (the embedded database migrates itself at start)');
}

export default new DataSource(dataSourceOptions(url, 2, 'torgovo-cli'));
