// Progressive enhancements only: every page works without this file.
document.addEventListener("click", (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const source = document.getElementById(copy.dataset.copy);
    navigator.clipboard.writeText(source.value ?? source.textContent).then(() => {
      const label = copy.textContent;
      copy.textContent = copy.dataset.copied || "Copied";
      setTimeout(() => { copy.textContent = label; }, 1500);
    });
  }
  // Close an open <details> menu when clicking elsewhere.
  document.querySelectorAll("details.menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// GET filter forms (the audit log's) leave their empty fields out of the URL: short, shareable links.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-drop-empty]")) return;
  for (const field of form.elements) {
    if (field.name && !field.disabled && field.value === "") field.disabled = true;
  }
});
// Coming back to the page (the back button restores it as it was): enable those fields again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-drop-empty] [disabled]").forEach((field) => { field.disabled = false; });
});
