output "app_url" {
  description = "Where customers reach the app and the API."
  value       = "https://${var.domain_name}"
}
output "alb_dns_name" {
  description = "The load balancer (CloudFront's API origin)."
  value       = aws_lb.api.dns_name
}
output "web_bucket" {
  description = "Upload web/dist here (aws s3 sync), then invalidate the distribution."
  value       = aws_s3_bucket.web.id
}
output "cloudfront_distribution_id" {
  description = "For cache invalidation after a web deploy."
  value       = aws_cloudfront_distribution.web.id
}
output "db_endpoint" {
  description = "RDS primary endpoint."
  value       = aws_db_instance.primary.address
}
output "db_replica_endpoint" {
  description = "RDS read replica endpoint."
  value       = aws_db_instance.replica.address
}
output "db_master_secret_arn" {
  description = "The RDS-managed master credentials in Secrets Manager."
  value       = aws_db_instance.primary.master_user_secret[0].secret_arn
}
output "redis_endpoint" {
  description = "ElastiCache primary endpoint (TLS; follows failover)."
  value       = aws_elasticache_replication_group.redis.primary_endpoint_address
}
output "ecs_cluster" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.main.name
}
