// Login: the API token typed into a password field and posted in a JSON body to /login; `notice`
// says why it is asked again (the session ended under the page).

import {h} from "../dom.js";
import {login} from "../api.js";

export function render(root, {done, notice = ""}) {
  const field = h("input", {type: "password", name: "token", id: "token", autocomplete: "current-password",
                            required: true, placeholder: "api_token from moonhook.toml"});
  const message = h("p", {class: "error", role: "alert", id: "login-error", text: notice});
  const button = h("button", {type: "submit", id: "login-button", text: "Log in"});
  // action and method only matter without JavaScript: a POST body, never the URL.
  const form = h("form", {class: "panel login", method: "post", action: "/login", id: "login"},
    h("h2", {text: "Log in"}),
    h("label", {for: "token", text: "API token"}), field, button, message);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    message.textContent = "";
    try {
      await login(field.value);
      field.value = "";
      done();
    } catch (err) {
      message.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  root.append(form);
  field.focus();
}
