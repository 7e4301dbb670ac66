variable "environment" {
  description = "Name of the environment: staging, production, …"
  type        = string
}
variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}
variable "domain_name" {
  description = "Public host name of the API and web app, e.g. bank.example.com."
  type        = string
}
variable "hosted_zone_id" {
  description = "Route 53 zone of domain_name (for certificate validation and the alias records)."
  type        = string
}
variable "image" {
  description = "Container image, pinned by digest: ghcr.io/protocol-bank/protocol-bank@sha256:…"
  type        = string
}
variable "vpc_cidr" {
  description = "CIDR of the VPC."
  type        = string
  default     = "10.40.0.0/16"
}
variable "api_min_tasks" {
  description = "Minimum API tasks (≥ 2, spread across zones)."
  type        = number
  default     = 2
  validation {
    condition     = var.api_min_tasks >= 2
    error_message = "Run at least two API tasks."
  }
}
variable "api_max_tasks" {
  description = "Maximum API tasks under autoscaling."
  type        = number
  default     = 10
}
variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.r6g.large"
}
variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time recovery window)."
  type        = number
  default     = 30
}
variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r6g.large"
}
variable "log_retention_days" {
  description = "CloudWatch log retention."
  type        = number
  default     = 365
}
variable "alarm_email" {
  description = "Where CloudWatch alarms are sent (SNS email subscription)."
  type        = string
}
