// esbuild's "text" loader turns imported .css files into strings that the views inject.
declare module "*.css" {
  const text: string;
  export default text;
}
