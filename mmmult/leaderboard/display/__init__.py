"""Display: the table and plot data (board), its columns (columns), their views (views), texts, the Gradio app
(app), and serving or deploying it (serve, deploy)."""
