# Varnish in front of an sse-middleware server (checked by
# `pnpm --filter @sse-middleware/example-behind-proxy check-proxies -- varnish`, not by CI).
# {{NAME}} placeholders are filled in by the check: in production put your own backend, and
# timeouts well above your heartbeat (HEARTBEAT 15 s → {{IDLE_TIMEOUT}} = 60s).
# Run in the foreground: varnishd -F -n <workdir> -a 127.0.0.1:<port> -f varnish.vcl -s malloc,16m
vcl 4.1;

backend app {
  .host = "127.0.0.1";
  .port = "{{UPSTREAM_PORT}}";
  .connect_timeout = 5s;
  # The stream's headers and retry hint come at once: a normal first-byte timeout is fine.
  .first_byte_timeout = {{IDLE_TIMEOUT}};
  # How long Varnish waits for the next bytes from the backend: above the heartbeat.
  .between_bytes_timeout = {{IDLE_TIMEOUT}};
}

sub vcl_recv {
  if (req.url ~ "^/events") {
    # A stream is never cached: pass it straight through (Last-Event-ID goes to the backend
    # unchanged). send_timeout is a bound on the whole response (600 s by default): a stream
    # would be cut after it, so raise it here; idle_send_timeout is the one between writes.
    set sess.send_timeout = 86400s;
    set sess.idle_send_timeout = {{IDLE_TIMEOUT}};
    return (pass);
  }
  if (req.method == "POST") {
    return (pass);
  }
}

sub vcl_backend_response {
  if (bereq.url ~ "^/events") {
    # Deliver bytes as they arrive (the default since Varnish 4; stated for clarity), unzipped.
    set beresp.do_stream = true;
    set beresp.do_gzip = false;
    set beresp.uncacheable = true;
    return (deliver);
  }
}
