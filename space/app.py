"""The mmmult leaderboard as a Hugging Face Space runs it: `python app.py`.

The app is the package `mmmult.leaderboard`; `mmmult space deploy` puts it, with the core modules it imports
(dataset_builder), beside this file. Settings come from the environment (README.md lists them).
"""

from mmmult.leaderboard.display.app import main

if __name__ == "__main__":
    main()
