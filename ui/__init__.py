"""Streamlit glue shared by the pages, by concern: ``state`` (keys, getters, notices),
``router`` (pages, URLs, deep links), ``sessions`` (a refresh keeps the session), ``loaders``
(cached reads, memo), ``actions`` (data, model, checkpoints), ``work`` (background runs),
``settings_form`` (form and YAML kept in sync), ``guards`` (prerequisites), ``panels`` (many
series: layout and series pickers, the series a result page shows), ``sidebar``."""
