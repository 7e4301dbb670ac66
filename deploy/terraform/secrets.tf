# Application secrets in Secrets Manager, injected into the tasks by ECS (never in the task
# definition's plain environment). The database password itself is RDS-managed and rotated.

resource "random_password" "secret_key" {
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "app" {
  #checkov:skip=CKV2_AWS_57:SECRET_KEY rotation is a planned operation (it ends sessions; docs/operations.md); provider keys rotate at the provider; the database password is rotated by RDS (manage_master_user_password) and the URLs rewritten by the rotation hook.
  for_each                = toset(["SECRET_KEY", "DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "SMTP_URL", "KYC_API_KEY", "PAYMENT_GATEWAY_API_KEY", "FACIAL_RECOGNITION_API_KEY"])
  name                    = "protocol-bank/${var.environment}/${each.key}"
  kms_key_id              = aws_kms_key.data.arn
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_version" "secret_key" {
  secret_id     = aws_secretsmanager_secret.app["SECRET_KEY"].id
  secret_string = random_password.secret_key.result
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.app["REDIS_URL"].id
  secret_string = "rediss://:${random_password.redis_auth.result}@${aws_elasticache_replication_group.redis.primary_endpoint_address}:6379"
}

# DATABASE_URL / DATABASE_REPLICA_URL embed the RDS-managed password: a small rotation hook
# (docs/operations.md, "Rotating the database password") rewrites them after each RDS rotation.
# Provider keys (SMTP_URL, KYC_API_KEY, …) are set by operators: aws secretsmanager put-secret-value.
