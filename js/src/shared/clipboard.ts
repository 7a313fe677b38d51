// Putting text on the clipboard, for the code view's Copy and the panel's Copy output.

/**
 * Copy `text`; true when it reached the clipboard.
 *
 * The Clipboard API needs a secure context and permission; without them an
 * off-screen text area and `execCommand("copy")` still work in most browsers. When
 * both fail, `selectable` (the text shown on the page) is selected so Ctrl+C copies it.
 */
export async function copyText(text: string, selectable?: HTMLElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (copyWithTextArea(text)) return true;
    if (selectable) {
      const range = document.createRange();
      range.selectNodeContents(selectable);
      const selection = window.getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
    }
    return false;
  }
}

function copyWithTextArea(text: string): boolean {
  const area = document.createElement("textarea");
  area.value = text;
  area.readOnly = true;
  area.style.position = "fixed";
  area.style.left = "-9999px";
  area.style.opacity = "0";
  const focused = document.activeElement as HTMLElement | null;
  document.body.append(area);
  area.focus();
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  focused?.focus?.();
  return copied;
}
