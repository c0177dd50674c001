from kcbx.cli import app

app(prog_name="kcbx")
