// The raise-query form's field list shows the chosen form's fields only. Without JavaScript it lists every
// form's fields grouped by form, and the server refuses a field that is not one of the chosen form's.
(function () {
  const form = document.getElementById("raise-query-form");
  if (!form) return;
  const formSelect = form.querySelector('select[name="form"]');
  const fieldSelect = form.querySelector('select[name="field"]');
  if (!formSelect || !fieldSelect) return;
  const blank = fieldSelect.querySelector('option[value=""]');
  const groups = Array.from(fieldSelect.querySelectorAll("optgroup"));

  function chosenLabel() {
    const option = formSelect.options[formSelect.selectedIndex];
    return option && option.value ? option.textContent.trim() : "";
  }

  function showFieldsOfChosenForm() {
    const label = chosenLabel();
    const current = fieldSelect.value;
    const shown = groups.filter((group) => !label || group.label === label);
    fieldSelect.replaceChildren(...(blank ? [blank] : []), ...shown);
    const stillThere = Array.from(fieldSelect.options).some((o) => o.value === current);
    fieldSelect.value = stillThere ? current : "";
  }

  // A field chosen before the form chooses its form.
  fieldSelect.addEventListener("change", function () {
    const option = fieldSelect.options[fieldSelect.selectedIndex];
    const group = option && option.parentElement;
    if (chosenLabel() || !group || group.tagName !== "OPTGROUP") return;
    const match = Array.from(formSelect.options).find((o) => o.textContent.trim() === group.label);
    if (match) {
      formSelect.value = match.value;
      showFieldsOfChosenForm();
    }
  });
  formSelect.addEventListener("change", showFieldsOfChosenForm);
  showFieldsOfChosenForm();
})();
