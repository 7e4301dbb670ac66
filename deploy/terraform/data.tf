# PostgreSQL (RDS, Multi-AZ, encrypted, PITR backups, a read replica) and Redis (ElastiCache,
# cluster mode, TLS in transit, AUTH token). Reachable only from the API's security group.

resource "aws_kms_key" "data" {
  #checkov:skip=CKV2_AWS_64:The default key policy (account root, delegated to IAM) is intended; access is granted by the IAM policies in iam.tf.
  description             = "Protocol Bank data at rest (${var.environment})"
  enable_key_rotation     = true
  deletion_window_in_days = 30
}

resource "aws_db_subnet_group" "main" {
  name       = "protocol-bank-${var.environment}"
  subnet_ids = aws_subnet.data[*].id
}

resource "aws_db_parameter_group" "pg" {
  name   = "protocol-bank-pg16-${var.environment}"
  family = "postgres16"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "synchronous_commit"
    value = "on"
  }
}

resource "aws_db_instance" "primary" {
  identifier                          = "protocol-bank-${var.environment}"
  engine                              = "postgres"
  engine_version                      = "16.4"
  instance_class                      = var.db_instance_class
  allocated_storage                   = 100
  max_allocated_storage               = 1000
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = aws_kms_key.data.arn
  db_name                             = "protocol_bank"
  username                            = "protocol_bank"
  manage_master_user_password         = true # in Secrets Manager, rotated by RDS
  master_user_secret_kms_key_id       = aws_kms_key.data.arn
  multi_az                            = true
  db_subnet_group_name                = aws_db_subnet_group.main.name
  vpc_security_group_ids              = [aws_security_group.db.id]
  parameter_group_name                = aws_db_parameter_group.pg.name
  backup_retention_period             = var.db_backup_retention_days
  backup_window                       = "02:00-03:00"
  maintenance_window                  = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot               = true
  deletion_protection                 = true
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "protocol-bank-${var.environment}-final"
  iam_database_authentication_enabled = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = aws_kms_key.data.arn
  monitoring_interval                 = 30
  monitoring_role_arn                 = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  auto_minor_version_upgrade          = true
  publicly_accessible                 = false
}

resource "aws_db_instance" "replica" {
  identifier                      = "protocol-bank-${var.environment}-replica"
  replicate_source_db             = aws_db_instance.primary.identifier
  instance_class                  = var.db_instance_class
  storage_encrypted               = true
  kms_key_id                      = aws_kms_key.data.arn
  vpc_security_group_ids          = [aws_security_group.db.id]
  parameter_group_name            = aws_db_parameter_group.pg.name
  multi_az                        = true
  performance_insights_enabled    = true
  performance_insights_kms_key_id = aws_kms_key.data.arn
  monitoring_interval             = 30
  monitoring_role_arn             = aws_iam_role.rds_monitoring.arn
  enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"]
  auto_minor_version_upgrade      = true
  copy_tags_to_snapshot           = true
  deletion_protection             = true
  skip_final_snapshot             = true
  iam_database_authentication_enabled = true
  publicly_accessible             = false
}

resource "aws_elasticache_subnet_group" "main" {
  name       = "protocol-bank-${var.environment}"
  subnet_ids = aws_subnet.data[*].id
}

resource "random_password" "redis_auth" {
  length  = 64
  special = false
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id       = "protocol-bank-${var.environment}"
  description                = "Protocol Bank cache, rate limits and pub/sub"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  # Primary + replica in another zone with automatic failover. Cluster mode (sharding) is off on
  # purpose: the service's Redis client is single-endpoint, and its data (rate-limit windows,
  # short-lived keys, pub/sub fan-out) is small; sharding would also multiply pub/sub traffic.
  num_cache_clusters         = 2
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.redis.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = aws_kms_key.data.arn
  transit_encryption_enabled = true
  auth_token                 = random_password.redis_auth.result
  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true
  parameter_group_name       = "default.redis7"
  log_delivery_configuration {
    destination      = aws_cloudwatch_log_group.redis.name
    destination_type = "cloudwatch-logs"
    log_format       = "json"
    log_type         = "slow-log"
  }
}
