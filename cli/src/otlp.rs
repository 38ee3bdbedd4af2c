//! `--otlp-endpoint`: the server's `tracing` spans — the engine's RPCs, run transitions
//! (namespace, workflow id, run id, the input, the events written) and commits — exported
//! to an OpenTelemetry collector over OTLP/HTTP, batched on the exporter's own thread,
//! through `tracing-opentelemetry`. Workers and clients trace their side with the SDK's
//! `TracingInterceptor` (feature `opentelemetry`).

use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::error::CliError;

/// The service name spans are exported under.
const SERVICE_NAME: &str = "endure-server";

/// Keeps the exporter running; dropping it flushes the spans not yet sent.
pub(crate) struct Exporting(SdkTracerProvider);

impl Drop for Exporting {
    fn drop(&mut self) {
        if let Err(error) = self.0.shutdown() {
            eprintln!("warning: the last spans may not have reached the collector: {error}");
        }
    }
}

/// The layer sending the engine's spans (debug level and up) to the collector at
/// `endpoint` (its base URL: `/v1/traces` is appended), and what keeps it running.
pub(crate) fn layer<S>(endpoint: &str) -> Result<(impl Layer<S> + use<S>, Exporting), CliError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span>,
{
    let traces = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(traces)
        .build()
        .map_err(|error| CliError::Usage(format!("--otlp-endpoint {endpoint}: {error}")))?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .with_batch_exporter(exporter)
        .build();
    let spans = Targets::new()
        .with_target("endure_server", tracing::Level::DEBUG)
        .with_target("endure", tracing::Level::DEBUG)
        .with_default(tracing::Level::INFO);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer(SERVICE_NAME))
        .with_filter(spans);
    Ok((layer, Exporting(provider)))
}
