"""``@pytest.mark.serial`` under pytest-xdist: ``roles.py`` on the controller and in
each worker, ``scheduler.py`` the controller's scheduler around xdist's own."""
