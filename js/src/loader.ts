// The `_esm` of every widget here: see shared/loader.ts. Only the default export:
// anywidget takes named exports as the (deprecated) old form of a widget.
import loader from "./shared/loader";

export default loader;
