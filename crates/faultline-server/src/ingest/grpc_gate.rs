//! A check on a gRPC request's head, as a tower layer in front of tonic:
//! a refused call gets a trailers-only status without its body being read
//! or decoded. Authentication and admission are both such checks.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::Status;

type GrpcRequest = http::Request<tonic::body::Body>;
type GrpcResponse = http::Response<tonic::body::Body>;

/// Decides on a request from its head before tonic sees it.
pub trait HeadCheck: Clone + Send + 'static {
    /// What a passed request holds until its answer is ready (an
    /// admission, say); dropped after the inner service answered.
    type Pass: Send + 'static;

    /// Lets the request through, possibly changed (an extension added, the
    /// body wrapped), or refuses it with the status to answer.
    fn check(&self, request: GrpcRequest) -> Result<(GrpcRequest, Self::Pass), Status>;
}

/// The tower service running a [`HeadCheck`] before `inner`.
#[derive(Clone)]
pub struct Gate<S, C> {
    inner: S,
    check: C,
}

/// A layer putting `check` in front of a service.
pub fn layer<S, C: Clone>(check: C) -> impl tower::Layer<S, Service = Gate<S, C>> + Clone {
    tower::layer::layer_fn(move |inner| Gate { inner, check: check.clone() })
}

type Answer<E> = Pin<Box<dyn Future<Output = Result<GrpcResponse, E>> + Send>>;

impl<S, C> tower::Service<GrpcRequest> for Gate<S, C>
where
    S: tower::Service<GrpcRequest, Response = GrpcResponse> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    C: HeadCheck,
{
    type Response = GrpcResponse;
    type Error = S::Error;
    type Future = Answer<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GrpcRequest) -> Self::Future {
        let (request, pass) = match self.check.check(request) {
            Ok(passed) => passed,
            Err(status) => return Box::pin(std::future::ready(Ok(status.into_http()))),
        };
        // The service that was polled ready is the one to call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(request).await;
            drop(pass);
            response
        })
    }
}
