# Optional external HTTPS load balancer (enable_load_balancer): one domain,
# a Google-managed certificate, Cloud Armor with per-IP rate limiting, and a
# URL map routing by the same path prefixes as the local router. Without it,
# each HTTP function is reached on its own run.app URL.

locals {
  lb_count = var.enable_load_balancer ? 1 : 0

  # Path prefix -> function: the same table as infra/stack.py. Like the local
  # router (infra/router.py), a prefix matches the path itself or the path
  # followed by "/" or ":" (the query string is not part of the path), so
  # "/moviesX" is not routed to movies.
  lb_routes = {
    "/movies"    = "movies"
    "/reviews"   = "reviews"
    "/sentiment" = "reviews"
    "/ratings"   = "ratings"
  }
}

resource "google_compute_global_address" "lb" {
  count = local.lb_count

  project = var.project_id
  name    = "${local.prefix}-lb"

  depends_on = [google_project_service.this]
}

resource "google_compute_region_network_endpoint_group" "fn" {
  for_each = var.enable_load_balancer ? local.http_functions : {}

  project               = var.project_id
  region                = var.region
  name                  = "${local.prefix}-${each.key}-neg"
  network_endpoint_type = "SERVERLESS"

  # A 2nd gen function is a Cloud Run service of the same name.
  cloud_run {
    service = google_cloudfunctions2_function.this[each.key].name
  }
}

resource "google_compute_security_policy" "api" {
  count = local.lb_count

  project     = var.project_id
  name        = "${local.prefix}-api"
  description = "Per-client rate limit and known-exploit filtering for the public API."
  type        = "CLOUD_ARMOR"

  # Log4Shell probes (CKV_GCP_73); harmless for a Python backend, but cheap
  # and it keeps scanners' noise out of the function logs.
  rule {
    action      = "deny(403)"
    priority    = 1000
    description = "Block Log4j JNDI exploit attempts."
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
  }

  # The web console calls the API through this load balancer from Google's
  # shared egress addresses, on behalf of many people: its token (web.tf)
  # keeps those calls out of the per-IP budget, which then counts people.
  rule {
    action      = "allow"
    priority    = 1500
    description = "The web console's own API calls (X-Console-Token)."
    match {
      expr {
        expression = "request.headers['x-console-token'] == '${terraform_data.console_token.output}'"
      }
    }
  }

  rule {
    action      = "throttle"
    priority    = 2000
    description = "Per-IP request budget; excess gets 429."
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.rate_limit_requests_per_minute
        interval_sec = 60
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Default: allow."
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_compute_backend_service" "fn" {
  for_each = var.enable_load_balancer ? local.http_functions : {}

  project               = var.project_id
  name                  = "${local.prefix}-${each.key}"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"
  security_policy       = google_compute_security_policy.api[0].id

  backend {
    group = google_compute_region_network_endpoint_group.fn[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

# Paths no route matches go to the web console (web.tf), as the local router
# sends them: the site at /, its pages, /docs and the merged /openapi.json.
resource "google_compute_url_map" "https" {
  count = local.lb_count

  lifecycle {
    precondition {
      # The load balancer calls the functions without credentials, so they
      # must be publicly invocable (Cloud Armor and ingress still apply).
      condition     = var.public_invoker
      error_message = "enable_load_balancer needs public_invoker = true (with Domain Restricted Sharing: an org-policy exception for this project, see docs/deploy.md)."
    }
  }

  project         = var.project_id
  name            = "${local.prefix}-https"
  default_service = google_compute_backend_service.web[0].id

  host_rule {
    hosts        = [var.domain]
    path_matcher = "api"
  }

  path_matcher {
    name            = "api"
    default_service = google_compute_backend_service.web[0].id

    dynamic "route_rules" {
      for_each = keys(local.lb_routes)
      content {
        priority = route_rules.key + 1
        service  = google_compute_backend_service.fn[local.lb_routes[route_rules.value]].id
        match_rules {
          full_path_match = route_rules.value
        }
        match_rules {
          prefix_match = "${route_rules.value}/"
        }
        match_rules {
          prefix_match = "${route_rules.value}:"
        }
      }
    }

    # /readyz/<function> -> that function's /readyz, for the uptime checks
    # (monitoring.tf): with the load balancer on, run.app URLs refuse them.
    dynamic "route_rules" {
      for_each = keys(local.http_functions)
      content {
        priority = 100 + route_rules.key
        service  = google_compute_backend_service.fn[route_rules.value].id
        match_rules {
          full_path_match = "/readyz/${route_rules.value}"
        }
        route_action {
          url_rewrite {
            path_prefix_rewrite = "/readyz"
          }
        }
      }
    }
  }
}

resource "google_compute_managed_ssl_certificate" "api" {
  count = local.lb_count

  project = var.project_id
  name    = "${local.prefix}-api"

  managed {
    domains = [var.domain]
  }

  lifecycle {
    precondition {
      condition     = var.domain != ""
      error_message = "enable_load_balancer needs var.domain for the managed certificate."
    }
  }

  depends_on = [google_project_service.this]
}

resource "google_compute_ssl_policy" "modern" {
  count = local.lb_count

  project         = var.project_id
  name            = "${local.prefix}-modern"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"

  depends_on = [google_project_service.this]
}

resource "google_compute_target_https_proxy" "api" {
  count = local.lb_count

  project          = var.project_id
  name             = "${local.prefix}-https"
  url_map          = google_compute_url_map.https[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.api[0].id]
  ssl_policy       = google_compute_ssl_policy.modern[0].id
}

resource "google_compute_global_forwarding_rule" "https" {
  count = local.lb_count

  project               = var.project_id
  name                  = "${local.prefix}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.lb[0].id
  port_range            = "443"
  target                = google_compute_target_https_proxy.api[0].id
}

# Plain HTTP only redirects to HTTPS.
resource "google_compute_url_map" "http_redirect" {
  count = local.lb_count

  project = var.project_id
  name    = "${local.prefix}-http-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "redirect" {
  count = local.lb_count

  project = var.project_id
  name    = "${local.prefix}-http-redirect"
  url_map = google_compute_url_map.http_redirect[0].id
}

resource "google_compute_global_forwarding_rule" "http" {
  count = local.lb_count

  project               = var.project_id
  name                  = "${local.prefix}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.lb[0].id
  port_range            = "80"
  target                = google_compute_target_http_proxy.redirect[0].id
}
