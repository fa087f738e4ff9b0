"""``@pytest.mark.serial`` under pytest-xdist: ``hooks.py`` on the controller and in
each worker, ``scheduler.py`` the controller's scheduler around xdist's own."""
