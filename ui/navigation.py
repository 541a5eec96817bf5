"""The app's pages, declared once: the entry script builds the navigation from this table, the home
page lists it, and each page's header takes its title and icon from it. No Streamlit here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    key: str  # the page's Controls name: its widget keys start with it
    path: str  # the script, relative to the project root
    title: str  # in the navigation, the browser tab and the page's heading
    icon: str  # a Material icon: shown on every machine, unlike colour emoji
    url_path: str  # the address: /<url_path>?<the page's controls>
    description: str = ""
    computes: bool = True  # imports TensorFlow (gradlib)


HOME = PageInfo("home", "dashboard.py", "Home", ":material/home:", "", computes=False)
PAGES: tuple[PageInfo, ...] = (
    PageInfo("chain", "pages/1_Chain_rule.py", "Chain rule", ":material/link:", "Chain_rule",
             "f composed up to 12 times: every backward function's upstream, local and downstream gradient, "
             "checked against autodiff, finite differences and the closed form."),
    PageInfo("multivar", "pages/2_Multiple_variables.py", "Multiple variables", ":material/call_split:",
             "Multiple_variables",
             "One gradient per input; None (or 0) for a variable that never reaches the output; the gradient "
             "field."),
    PageInfo("surrogates", "pages/3_Surrogate_gradients.py", "Surrogate gradients", ":material/stairs:",
             "Surrogate_gradients",
             "sign or Heaviside forward, one of 11 published surrogate derivatives backward, overlaid and "
             "compared."),
    PageInfo("training", "pages/4_Training.py", "Training", ":material/fitness_center:", "Training",
             "Train through sign with any surrogate and any of 10 Keras optimizers; compare runs, play them "
             "back."),
    PageInfo("network", "pages/5_Binarized_network.py", "Binarized network", ":material/hub:", "Binarized_network",
             "A small network with ±1 hidden units on toy 2-D data: the surrogate is what lets it learn."),
    PageInfo("fixes", "pages/6_Gradient_fixes.py", "Gradient fixes", ":material/healing:", "Gradient_fixes",
             "log1pexp right for every x, gradient clipping in the backward pass, and gradient reversal."),
    PageInfo("yours", "pages/7_Your_gradient.py", "Your gradient", ":material/edit:", "Your_gradient",
             "Type a forward f and a backward g: checked live against f's exact derivative, then used in a "
             "chain, a training run or a network."),
)
BY_KEY = {page.key: page for page in (HOME, *PAGES)}
