"""Display: the table and plot data (board), its columns (columns), the view's filters and URL (filters), how
numbers are written (formatting), the figures (plots), the model page's tables (model_tables), texts, the
Gradio app (app), and serving or deploying it (serve, deploy)."""
