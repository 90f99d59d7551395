"""The mmmult leaderboard as a Hugging Face Space runs it: `python app.py`.

The app is the package `dataset_builder.leaderboard`; `mmmult space deploy` puts the package
beside this file. Settings come from the environment (README.md lists them).
"""

from dataset_builder.leaderboard.display.app import main

if __name__ == "__main__":
    main()
