//! static (being written)
/// Placeholder type replaced by the static app.
#[derive(Debug)]
pub struct StaticFiles;
